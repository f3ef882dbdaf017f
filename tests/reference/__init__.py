"""An independent pure-Python reference for agent keys (tests only; plain ints, no gnark, no Go).

Written from the published specifications and ``docs/agent-keys.md``; each module's docstring
names every place where it follows gnark-crypto's conventions rather than a paper, because the
paper leaves the choice open or gnark-crypto departs from it.
"""
