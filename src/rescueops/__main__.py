from rescueops.cli import main

main()
