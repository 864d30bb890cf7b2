from dsvae.cli import main

raise SystemExit(main())
