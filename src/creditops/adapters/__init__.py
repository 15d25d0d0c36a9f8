"""Adapters: storage, files, Salesforce, notifications, calendar, reports. They translate shapes."""
