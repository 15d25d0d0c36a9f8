from creditops.cli import main

main()
