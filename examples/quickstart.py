"""The README quickstart as a script: a synthetic car maker, phones, domains, leads.

Run: ``python examples/quickstart.py``
"""

from __future__ import annotations

import numpy as np

from autoops.datasets import synthetic
from autoops.models import TouchpointKind, normalize_phones


def main() -> None:
    data = synthetic(people=20_000, seed=0)
    print(data)

    phones = normalize_phones(data.leads.phone)
    print(f"{phones.valid.mean():.1%} of lead phones are valid")
    reasons, counts = np.unique(
        phones.reason[~phones.valid & ~phones.missing].astype(str), return_counts=True
    )
    for reason, count in zip(reasons, counts, strict=True):
        print(f"  {count:>5}  {reason}")

    private = [k.value for k in TouchpointKind.private()]
    in_private = np.isin(data.events.touchpoint, private)
    print(f"{in_private.mean():.0%} of events happen in the private domain")

    grades, counts = np.unique(data.leads.grade.astype(str), return_counts=True)
    print(dict(zip(grades.tolist(), counts.tolist(), strict=True)))


if __name__ == "__main__":
    main()
