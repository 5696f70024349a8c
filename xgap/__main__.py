import sys

from xgap.cli import main

sys.exit(main())
