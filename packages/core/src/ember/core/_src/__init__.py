"""Private implementation of ember.core. Nothing here is public API; import from ember.core."""

import os as _os

# XLA's C++ code logs INFO and WARNING lines (device counts, GSPMD notices) on stderr; keep them
# quiet unless the user chose a level (TF_CPP_MIN_LOG_LEVEL=0 shows everything). This must happen
# before jaxlib's library is loaded.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
