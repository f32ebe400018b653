"""Regenerate ``aws_managed_policies.json.gz``: ``python -m overcast.services.iam.data.regenerate``.

The documents are AWS's own (names, paths, default versions, dates and statements as
``iam:ListPolicies --scope AWS`` and ``iam:GetPolicyVersion`` answer them). The public copy read
here is the one the ``moto`` package ships (``moto/iam/aws_managed_policies.py``, refreshed by
its maintainers from a real account); install moto in a development environment to run this.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

OUT = Path(__file__).with_name("aws_managed_policies.json.gz")


def main() -> None:
    from moto import __version__
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    raw = json.loads(aws_managed_policies_data)
    policies = [
        {
            "PolicyName": name,
            "Path": entry.get("Path", "/"),
            "DefaultVersionId": entry.get("DefaultVersionId", "v1"),
            "CreateDate": entry.get("CreateDate"),
            "UpdateDate": entry.get("UpdateDate"),
            "Document": entry["Document"],
        }
        for name, entry in sorted(raw.items())
    ]
    data = {"source": f"moto {__version__} moto/iam/aws_managed_policies.py", "policies": policies}
    text = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    OUT.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    print(f"{len(policies)} policies -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
