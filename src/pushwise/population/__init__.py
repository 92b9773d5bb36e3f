"""The population study (issue 13): a shop's users, simulated, against the real engine.

Outside models import the plug-in contract from here: `PopulationModel`, `SimUser`,
`SeenPush` and `SimEvent` (see `contract.py` and docs/population.md).
"""

from pushwise.population.contract import PopulationModel, SeenPush, SimEvent, SimUser

__all__ = ["PopulationModel", "SeenPush", "SimEvent", "SimUser"]
