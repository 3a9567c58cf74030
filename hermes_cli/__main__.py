from hermes_cli.main import main

raise SystemExit(main())
