from trustsvc.cli import main

main()
