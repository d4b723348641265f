"""`python -m danube.coordinator`."""

import sys

from danube.coordinator._main import main

sys.exit(main())
