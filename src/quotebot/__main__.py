from quotebot.cli import main

main()
