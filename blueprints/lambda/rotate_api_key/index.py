"""Rotates an API-key style secret in Secrets Manager's four steps.

Secrets Manager invokes this function with {"Step", "SecretId", "ClientRequestToken"}:

- createSecret: make a new random key and store it as the AWSPENDING version, in the shape the
                current value has: a plain string, or JSON with the key under "api_key".
- setSecret:    hand the new key to the service that accepts it (a hook: see `publish`).
- testSecret:   check that the pending key is well formed (and accepted, once `publish` is real).
- finishSecret: move AWSCURRENT to the pending version; the old one becomes AWSPREVIOUS.

The function never logs a secret value, only ids and steps.
"""

import json
import logging

import boto3

log = logging.getLogger()
log.setLevel(logging.INFO)

KEY_LENGTH = 48


def handler(event, _context):
    secret_id = event["SecretId"]
    token = event["ClientRequestToken"]
    step = event["Step"]
    client = boto3.client("secretsmanager")

    metadata = client.describe_secret(SecretId=secret_id)
    if not metadata.get("RotationEnabled"):
        raise ValueError(f"rotation is not enabled for {secret_id}")
    stages = metadata.get("VersionIdsToStages", {})
    if token not in stages:
        raise ValueError(f"version {token} is not a version of {secret_id}")
    if "AWSCURRENT" in stages[token]:
        log.info("version %s of %s is already current", token, secret_id)
        return
    if "AWSPENDING" not in stages[token]:
        raise ValueError(f"version {token} of {secret_id} is not pending")

    steps = {
        "createSecret": create_secret,
        "setSecret": set_secret,
        "testSecret": test_secret,
        "finishSecret": finish_secret,
    }
    if step not in steps:
        raise ValueError(f"unknown step {step}")
    log.info("%s for %s, version %s", step, secret_id, token)
    steps[step](client, secret_id, token, stages)


def create_secret(client, secret_id, token, _stages):
    # A retried step finds its pending version already made: keep it.
    try:
        client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
        return
    except client.exceptions.ResourceNotFoundException:
        pass
    key = client.get_random_password(PasswordLength=KEY_LENGTH, ExcludePunctuation=True)
    current = client.get_secret_value(SecretId=secret_id, VersionStage="AWSCURRENT")
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=reshape(current["SecretString"], key["RandomPassword"]),
        VersionStages=["AWSPENDING"],
    )


def set_secret(client, secret_id, token, _stages):
    pending = pending_key(client, secret_id, token)
    publish(secret_id, pending)


def test_secret(client, secret_id, token, _stages):
    pending = pending_key(client, secret_id, token)
    if len(pending) != KEY_LENGTH or not pending.isalnum():
        raise ValueError(f"the pending key of {secret_id} is malformed")


def finish_secret(client, secret_id, token, stages):
    current = next((v for v, s in stages.items() if "AWSCURRENT" in s), None)
    client.update_secret_version_stage(
        SecretId=secret_id,
        VersionStage="AWSCURRENT",
        MoveToVersionId=token,
        RemoveFromVersionId=current,
    )


def reshape(current, key):
    """The new key in the shape of the current value, so consumers never see the format change."""
    try:
        document = json.loads(current)
    except ValueError:
        return key
    if isinstance(document, dict):
        document["api_key"] = key
        return json.dumps(document)
    return key


def key_of(value):
    try:
        document = json.loads(value)
    except ValueError:
        return value
    return document.get("api_key", "") if isinstance(document, dict) else value


def pending_key(client, secret_id, token):
    value = client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage="AWSPENDING")
    return key_of(value["SecretString"])


def publish(secret_id, _key):
    """Registers the new key with the service that issues or accepts it.

    Services differ, so this is where a deployment plugs in its call (an admin API that adds
    a key, say). Until then the new key is only stored, which suits keys that rampart's own
    consumers read from Secrets Manager at run time.
    """
    log.info("no external service to update for %s", secret_id)
