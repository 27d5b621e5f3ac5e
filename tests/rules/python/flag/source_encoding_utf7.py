# expect: py-source-encoding
# -*- coding: utf-7 -*-
+AGkAbQBwAG8AcgB0ACAAbwBzAAoAbwBzAC4AcwB5AHMAdABlAG0AKAAiAGkAZAAiACk-
