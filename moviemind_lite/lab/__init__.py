"""The race lab: the same race, run under each locking strategy, with the damage counted.

:mod:`.scenario` says what a race is; :func:`.race.run_race` races one
strategy through it in a scratch home and :func:`.race.run_compare` several,
side by side; :mod:`.metrics` counts what happened and :mod:`.timeline` draws
it. :mod:`.teaching` holds the named scenarios (their shared shape is in
:mod:`.lesson`; the flag scenarios, which drive the application itself, in
:mod:`.flag_lessons`), each with its explanation and automatic check. This
module imports none of them, so that a front end can read the scenario's
defaults without loading the store.
"""
