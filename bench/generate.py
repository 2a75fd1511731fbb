"""Writes a blueprint of DOMAINS data domains for the benchmarks, hardened like the example.

Usage: generate.py DOMAINS PREFIX > blueprint.toml

Each domain has a KMS key, a raw and a curated bucket encrypted with it, a secret rotated by
the shared rotation function, and a reader role: 5 resources. Shared by all: the access-log
bucket, the rotation function and its role: 3. So DOMAINS data domains are 5 * DOMAINS + 3
resources. PREFIX starts every name (bucket names are global).
"""

import sys

SHARED = 3
PER_DOMAIN = 5


def resources(domains: int) -> int:
    return SHARED + PER_DOMAIN * domains


def buckets(prefix: str, name: str) -> str:
    """A domain's raw and curated buckets, encrypted with its key, logging to the shared bucket."""
    return "".join(
        f"""[s3_bucket.{name}_{stage}]
name = "{prefix}-{name}-{stage}"
kms_key = "kms_key.{name}"
versioning = true
block_public_access = true
require_tls = true
access_logs = "s3_bucket.access_logs"
lifecycle = {{ noncurrent_expiration_days = 90 }}

"""
        for stage in ("raw", "curated")
    )


def blueprint(domains: int, prefix: str) -> str:
    out = [
        f"""[blueprint]
name = "{prefix}"
region = "eu-west-1"

[tags]
project = "{prefix}"
owner = "benchmarks"
data-classification = "internal"

[s3_bucket.access_logs]
name = "{prefix}-access-logs"
versioning = true
block_public_access = true
require_tls = true
lifecycle = {{ noncurrent_expiration_days = 365 }}

[iam_role.rotation]
name = "{prefix}-rotation"
description = "Execution role of the rotation function"
trust = ["lambda.amazonaws.com"]
managed_policies = ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]

[iam_role.rotation.policies.rotate]
Version = "2012-10-17"
Statement = [
  {{ Effect = "Allow", Action = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"], Resource = "arn:aws:secretsmanager:*:123456789012:secret:{prefix}/*" }},
  {{ Effect = "Allow", Action = "secretsmanager:GetRandomPassword", Resource = "*" }},
]

[lambda_function.rotate]
name = "{prefix}-rotate"
runtime = "python3.12"
handler = "index.handler"
role = "iam_role.rotation"
code = "lambda/rotate_api_key"
timeout_seconds = 30
"""
    ]
    for d in range(domains):
        name = f"d{d:04}"
        out.append(
            f"""
[kms_key.{name}]
description = "Domain {name}"
alias = "alias/{prefix}-{name}"
rotation = true

{buckets(prefix, name)}[secret.{name}]
name = "{prefix}/{name}/service"
description = "Service credentials of domain {name}"
kms_key = "kms_key.{name}"
rotation_lambda = "lambda_function.rotate"
rotation_days = 30
recovery_window_days = 7

[iam_role.{name}_reader]
name = "{prefix}-{name}-reader"
description = "Reads the curated data of domain {name}"
trust = ["arn:aws:iam::123456789012:root"]

[iam_role.{name}_reader.policies.read]
Version = "2012-10-17"
Statement = [
  {{ Effect = "Allow", Action = "s3:GetObject", Resource = "arn:aws:s3:::{prefix}-{name}-curated/*" }},
  {{ Effect = "Allow", Action = "kms:Decrypt", Resource = "*", Condition = {{ StringEquals = {{ "kms:ViaService" = "s3.eu-west-1.amazonaws.com" }} }} }},
]
"""
        )
    return "".join(out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.stdout.write(blueprint(int(sys.argv[1]), sys.argv[2]))
