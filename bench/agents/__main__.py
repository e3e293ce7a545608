from bench.agents.main import main

main()
