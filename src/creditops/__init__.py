"""creditops: get the full value of what an organisation bought from Salesforce beyond licences."""

__version__ = "0.1.0"
