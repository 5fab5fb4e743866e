from mlopsctl.cli.main import main

main()
