"""Record the update fields of today's 2-player games as a regression fixture.

Run once, before the general core replaced the 2x2 memory-1 implementation
(``python tests/data/record_fields.py``); the tests compare every field against
``fields_2x2.npz`` to 1e-13 (relative to the field's scale). Re-running it
overwrites the record, which defeats its purpose: do so only on purpose.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import lola_sym as ls

#: hyper-parameters recorded for each rule (non-default values exercise the symbols)
HYPER = {"lola": {"eta": 0.7}, "la": {"eta": 0.7}, "lola_full": {"eta": 0.7},
         "exact_lola": {"eta": 0.7}, "hola": {"eta": 0.3, "order": 2}, "lola2": {"eta": 0.7},
         "co": {"gamma": 0.2}, "sos": {"eta": 0.7, "a": 0.5, "b": 0.1}, "sga": {"lam": 0.4},
         "sga_plain": {"lam": 0.4}, "cgd": {"eta": 0.3}, "nl": {}}
GAMES = ("ipd", "imp", "stag_hunt", "chicken", "battle_of_sexes", "tandem", "hamiltonian",
         "balduzzi", "matching_pennies", "ultimatum", "chicken_one_shot")


def record(path: Path) -> None:
    rng = np.random.default_rng(20261128)
    out = {}
    for name in GAMES:
        game = ls.games.by_name(name)
        d1, d2 = game.dims
        t1 = rng.normal(0.0, 1.5, (4, d1))
        t2 = rng.normal(0.0, 1.5, (4, d2))
        out[f"{name}/theta1"], out[f"{name}/theta2"] = t1, t2
        out[f"{name}/value"] = game.value(t1, t2)
        for rule, hyper in HYPER.items():
            g1, g2 = ls.update_field(game, rule, **hyper)(t1, t2)
            out[f"{name}/{rule}/g1"], out[f"{name}/{rule}/g2"] = g1, g2
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    record(Path(__file__).with_name("fields_2x2.npz"))
