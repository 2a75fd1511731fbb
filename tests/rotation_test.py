"""The shipped rotation function, step by step, against moto's Secrets Manager in-process.

Secrets Manager itself is not exercised here (moto's stand-in never runs a Lambda): the steps
are called as Secrets Manager calls them, with a pending version staged the way RotateSecret
stages it.
"""

import importlib.util
import json
import pathlib
import unittest
import uuid

import boto3
from moto import mock_aws

ROOT = pathlib.Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location(
    "rotate_api_key", ROOT / "blueprints/lambda/rotate_api_key/index.py"
)
rotation = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(rotation)


class StagedClient:
    """A real (mocked) client whose DescribeSecret shows the rotation RotateSecret started."""

    def __init__(self, client, token):
        self._client = client
        self._token = token

    def __getattr__(self, name):
        return getattr(self._client, name)

    def describe_secret(self, SecretId):
        described = self._client.describe_secret(SecretId=SecretId)
        stages = dict(described.get("VersionIdsToStages", {}))
        stages.setdefault(self._token, ["AWSPENDING"])
        described["VersionIdsToStages"] = stages
        described["RotationEnabled"] = True
        return described


@mock_aws
class RotationSteps(unittest.TestCase):
    def rotate(self, initial):
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        client.create_secret(Name="prod/api/key", SecretString=initial)
        token = str(uuid.uuid4())
        staged = StagedClient(client, token)
        rotation.boto3.client = lambda *_args, **_kwargs: staged
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"]:
            rotation.handler({"SecretId": "prod/api/key", "ClientRequestToken": token, "Step": step}, None)
        # AWSCURRENT named outright: moto's unstaged read lags behind a moved stage label.
        current = client.get_secret_value(SecretId="prod/api/key", VersionStage="AWSCURRENT")
        self.assertEqual(current["VersionId"], token)
        return current["SecretString"]

    def test_a_plain_key_is_replaced_by_a_new_plain_key(self):
        old = "a" * 48
        new = self.rotate(old)
        self.assertNotEqual(new, old)
        self.assertEqual(len(new), 48)
        self.assertTrue(new.isalnum())

    def test_a_json_secret_keeps_its_shape_and_other_fields(self):
        new = json.loads(self.rotate(json.dumps({"api_key": "b" * 48, "org": "acme"})))
        self.assertEqual(new["org"], "acme")
        self.assertNotEqual(new["api_key"], "b" * 48)
        self.assertEqual(len(new["api_key"]), 48)

    def test_a_step_for_a_version_that_is_not_pending_is_refused(self):
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        client.create_secret(Name="other", SecretString="x")
        rotation.boto3.client = lambda *_args, **_kwargs: StagedClient(client, "t")
        with self.assertRaises(ValueError):
            rotation.handler({"SecretId": "other", "ClientRequestToken": "unknown", "Step": "createSecret"}, None)


if __name__ == "__main__":
    unittest.main()
