"""Checks of docs/practice-feed.md: every event type the domain writes is documented with an
example, every example validates against the documented JSON Schema (and a broken one does not),
and the signature-checking example verifies the Standard Webhooks specification's own example.

Run by scripts/test with the repository's venv: python -m unittest discover -s tests/infra
"""

import json
import pathlib
import re
import unittest
from unittest import mock

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "practice-feed.md").read_text()


def domain_types():
    """The event types `portal_domain::feed::Change::kind` names."""
    source = (ROOT / "shared" / "domain" / "src" / "feed.rs").read_text()
    body = source[source.index("pub fn kind(&self)"):source.index("fn household(&self)")]
    return set(re.findall(r'=> "([a-z_]+\.[a-z_]+)"', body))


def examples():
    """Each `### \\`type\\`` heading's JSON example."""
    found = {}
    for match in re.finditer(r"^### `([a-z_.]+)`\n(.*?)```json\n(.*?)```", DOC, re.S | re.M):
        found[match.group(1)] = json.loads(match.group(3))
    return found


def schema():
    return json.loads(fenced(DOC[DOC.index("## JSON Schema"):], "json"))


def fenced(text, language):
    """The first code block of `language` in `text`."""
    start = text.index(f"```{language}\n") + len(language) + 4
    return text[start:text.index("\n```", start)]


class PracticeFeedDocTest(unittest.TestCase):
    def test_every_event_type_is_documented_with_an_example_that_fits_the_schema(self):
        documented = examples()
        self.assertEqual(set(documented), domain_types())
        self.assertEqual(set(schema()["properties"]["type"]["enum"]), domain_types())
        validator = jsonschema.Draft202012Validator(schema())
        for kind, event in documented.items():
            self.assertEqual(event["type"], kind)
            errors = [e.message for e in validator.iter_errors(event)]
            self.assertEqual(errors, [], kind)

    def test_the_schema_refuses_an_event_that_lacks_what_its_type_needs(self):
        validator = jsonschema.Draft202012Validator(schema())
        enrolled = examples()["member.enrolled"]
        del enrolled["data"]["start"]
        self.assertFalse(validator.is_valid(enrolled))
        paid = examples()["payment.succeeded"]
        paid["data"]["payment"]["amount"] = 20.0
        self.assertFalse(validator.is_valid(paid), "money is a decimal string, never a float")
        paid = examples()["payment.succeeded"]
        paid["data"]["payment"]["source"]["number"] = "4242424242424242"
        self.assertFalse(validator.is_valid({**paid, "card_number": "4242424242424242"}))

    def test_the_verification_example_checks_the_specifications_example(self):
        code = fenced(DOC[DOC.index("### Verifying a webhook"):], "python")
        scope = {}
        exec(code, scope)
        headers = {
            "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "webhook-timestamp": "1614265330",
            "webhook-signature": "v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        }
        body = b'{"test": 2432232314}'
        secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        with mock.patch("time.time", return_value=1614265330 + 60):
            self.assertTrue(scope["verify"](secret, headers, body))
            self.assertFalse(scope["verify"](secret, headers, body + b" "))
        with mock.patch("time.time", return_value=1614265330 + 301):
            self.assertFalse(scope["verify"](secret, headers, body), "too old")
        self.assertLessEqual(len(code.strip().splitlines()), 12, "a short example")


if __name__ == "__main__":
    unittest.main()
