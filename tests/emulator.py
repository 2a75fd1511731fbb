"""Starts moto server on loopback for the test suite and the demo.

Usage: emulator.py [PORT] [--tls DIR]   (PORT 0, the default, picks a free port)

With `--tls DIR` it serves HTTPS with a certificate for 127.0.0.1 signed by a test CA it makes
in DIR (`ca.pem`), as a TLS-inspecting proxy would: clients trust it only if told to.

Prints `ready PORT` once the server accepts requests, then serves until its standard input
closes, so a test process that dies, however it dies, never leaves an emulator behind.

Why moto 5.0.28 (pinned in tests/emulator-requirements.txt): moto 5.2.x answers
GetBucketVersioning with the XML root `GetBucketVersioningResponse`, which the AWS SDK for Rust
rejects ("encountered invalid XML root"); 5.0.28 answers with `VersioningConfiguration` as AWS
does, and has the rest rampart uses.

It also mends two fidelity gaps of moto 5.0.x: it ignores a bucket policy statement's
`Condition` (with the standard TLS-only statement every object request was denied), so bucket
policies are evaluated here as AWS does (see `condition_holds`); it lacks GuardDuty's
TagResource/UntagResource, added here on moto's own detectors; and it ignores `If-Match` on
PutObject (S3's conditional write, which the S3 state backend relies on), checked here as AWS
does (see `put_object_if_match`).
"""

import fnmatch
import os
import sys
from urllib.parse import unquote

# AWS managed policies (arn:aws:iam::aws:policy/...) exist only when loaded at start.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

from moto.core.config import default_user_config
from moto.guardduty import urls as guardduty_urls
from moto.guardduty.responses import GuardDutyResponse
from moto.iam import access_control
from moto.s3.exceptions import MissingKey, PreconditionFailed
from moto.s3.responses import S3Response
from moto.server import ThreadedMotoServer

# What moto knows of a request when it evaluates a bucket policy. The loopback emulator stands
# in for AWS's TLS endpoint, so every request counts as made over TLS.
REQUEST_CONTEXT = {"aws:securetransport": ["true"]}


def _values_match(operator: str, actual: list, expected: list) -> bool:
    if operator == "Bool":
        return any(a.lower() == e.lower() for a in actual for e in expected)
    if operator in ("StringEquals", "ArnEquals"):
        return any(a == e for a in actual for e in expected)
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(a, e) for a in actual for e in expected)
    if operator in ("StringNotEquals", "ArnNotEquals"):
        return all(a != e for a in actual for e in expected)
    if operator in ("StringNotLike", "ArnNotLike"):
        return not any(fnmatch.fnmatchcase(a, e) for a in actual for e in expected)
    # An operator this shim does not know: the condition does not hold.
    return False


def condition_holds(condition: dict) -> bool:
    """AWS's rule: every operator and key must match; a key missing from the request makes
    its test fail, except with `...IfExists` and `Null`."""
    for operator, tests in condition.items():
        if_exists = operator.endswith("IfExists")
        base = operator[: -len("IfExists")] if if_exists else operator
        for key, expected in tests.items():
            expected = [str(e) for e in (expected if isinstance(expected, list) else [expected])]
            actual = REQUEST_CONTEXT.get(key.lower())
            if base == "Null":
                if not any((e.lower() == "true") == (actual is None) for e in expected):
                    return False
                continue
            if actual is None:
                if if_exists:
                    continue
                return False
            if not _values_match(base, actual, expected):
                return False
    return True


_is_action_permitted = access_control.IAMPolicyStatement.is_action_permitted


def is_action_permitted(self, action, resource="*"):
    # moto 5.0.x ignores `Condition`, so the standard TLS-only Deny denies everything.
    condition = self._statement.get("Condition")
    if condition and not condition_holds(condition):
        return access_control.PermissionResult.NEUTRAL
    return _is_action_permitted(self, action, resource)


access_control.IAMPolicyStatement.is_action_permitted = is_action_permitted

# No Docker here: Lambda functions (and the rotations that invoke them) run in moto's own
# stand-in. Set before any function exists, as functions live in the backend that made them.
default_user_config["lambda"] = {"use_docker": False}


# moto 5.0.x has no GuardDuty TagResource/UntagResource, which AWS has: tags of a detector
# (arn:aws:guardduty:REGION:ACCOUNT:detector/ID) are kept on moto's detector, as AWS does.
def _tagged_detector(response):
    arn = unquote(response.path.split("/tags/", 1)[-1])
    return response.guardduty_backend.get_detector(arn.rsplit("/", 1)[-1])


def _tag_resource(self):
    _tagged_detector(self).tags.update(self._get_param("tags") or {})
    return "{}"


def _untag_resource(self):
    detector = _tagged_detector(self)
    for key in self.querystring.get("tagKeys", []):
        detector.tags.pop(key, None)
    return "{}"


_put_object = S3Response.put_object


def put_object_if_match(self):
    """AWS writes the object only if its current ETag is the one given, and answers 404 when
    there is no object; moto 5.0.x writes regardless."""
    wanted = self.headers.get("If-Match")
    if wanted is not None:
        key_name = self.parse_key_name()
        current = self.backend.get_object(self.bucket_name, key_name)
        if current is None:
            raise MissingKey(key=key_name)
        if current.etag.strip('"') != wanted.strip('"'):
            raise PreconditionFailed("If-Match")
    return _put_object(self)


S3Response.put_object = put_object_if_match
GuardDutyResponse.tag_resource = _tag_resource
GuardDutyResponse.untag_resource = _untag_resource
guardduty_urls.url_paths["{0}/tags/(?P<resource_arn>.+)$"] = GuardDutyResponse.dispatch


def make_test_ca(directory: str) -> tuple:
    """A CA (ca.pem) and a certificate for 127.0.0.1 it signs (cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("rampart test CA"))
        .issuer_name(name("rampart test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + day)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - day)
        .not_valid_after(now + day)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {name: os.path.join(directory, name) for name in ("ca.pem", "cert.pem", "key.pem")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert.pem"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key.pem"], "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return paths["cert.pem"], paths["key.pem"]


def main() -> None:
    args = sys.argv[1:]
    tls_dir = None
    if "--tls" in args:
        i = args.index("--tls")
        tls_dir = args[i + 1]
        del args[i : i + 2]
    port = int(args[0]) if args else 0
    if tls_dir is None:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        _, bound = server.get_host_and_port()
        print(f"ready {bound}", flush=True)
        stop = server.stop
    else:
        import threading

        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        cert, key = make_test_ca(tls_dir)
        app = DomainDispatcherApplication(create_backend_app)
        https = make_server("127.0.0.1", port, app, threaded=True, ssl_context=(cert, key))
        threading.Thread(target=https.serve_forever, daemon=True).start()
        print(f"ready {https.server_address[1]}", flush=True)
        stop = https.shutdown
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    stop()


if __name__ == "__main__":
    main()
