"""The chaos suite (issue 14 item 6): scenarios that break a database, a disk, a network or a
provider under load and check that nothing accepted is lost. Each scenario is a function of a size,
so CI runs it small (`pytest -m chaos`) and `bench/chaos.py` runs it big and prints its figures."""
