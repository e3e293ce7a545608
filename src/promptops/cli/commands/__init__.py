"""Client commands grouped by resource; each module adds its subcommands to the parser."""
