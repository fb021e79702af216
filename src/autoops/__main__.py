"""``python -m autoops`` runs the command line."""

from autoops.cli import main

raise SystemExit(main())
