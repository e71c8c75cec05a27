"""Checks of infra/template.yaml that cfn-lint cannot know: every function crate is deployed, every
production path reaches its function through CloudFront's behaviours (in their order), and each
function's policy grants only the actions that function uses.

Run by scripts/test with the repository's venv: python -m unittest discover -s tests/infra
"""

import fnmatch
import json
import pathlib
import re
import tomllib
import unittest

from cfnlint.decode import cfn_yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]

# What each function may do with the table, and which functions send email.
ALLOWED_TABLE_ACTIONS = {
    "sign-in": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
    "invoices": {"GetItem", "UpdateItem", "Query"},
    "pay-invoice": {"GetItem", "PutItem", "UpdateItem", "Query"},
    "payment-options": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
    "contact-info": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
    # Cancelling or removing a member writes the membership and a feed event (a transaction of puts).
    "memberships": {"GetItem", "PutItem", "UpdateItem", "Query"},
    "renew-membership": {"GetItem", "PutItem", "UpdateItem", "Query"},
    "add-dependent": {"GetItem", "PutItem", "UpdateItem", "Query"},
    "agreements": {"GetItem", "PutItem", "UpdateItem", "Query"},
    "payment-events": {"GetItem", "PutItem", "UpdateItem", "Query"},
    # Reads the table's stream, the day's feed events (the digest) and marks a digest sent.
    "practice-feed": {"GetItem", "PutItem", "DeleteItem", "Query", "DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"},
    # Reads the households index and each household, claims each reminder (put, or delete when a
    # send fails) and mints each link.
    # and charges automatic payments (reserve, settle: updates).
    "reminders": {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
}
MAILERS = {"sign-in", "pay-invoice", "contact-info", "memberships", "renew-membership", "add-dependent", "payment-events", "practice-feed",
           "reminders"}
# Functions no browser reaches: invoked by the table's stream and schedules, not through CloudFront.
EVENT_FUNCTIONS = {"practice-feed", "reminders"}
# Functions that hand failures to a queue.
QUEUE_SENDERS = {"practice-feed"}
# Only these functions take payments, and only they are given the Stripe keys.
PAYMENT_FUNCTIONS = {"pay-invoice", "payment-options", "payment-events", "reminders"}


def load_template():
    return cfn_yaml.load(str(ROOT / "infra" / "template.yaml"))


def function_crates():
    return sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists())


def router():
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    return cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]


def function_resources(template):
    found = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            found[resource["Metadata"]["BuildProperties"]["Binary"]] = (name, resource)
    return found


def cloudfront_target(distribution, path):
    """The origin CloudFront picks for a path: the first behaviour whose pattern matches, else the default."""
    config = distribution["Properties"]["DistributionConfig"]
    for behaviour in config["CacheBehaviors"]:
        # CloudFront's * matches any characters, '/' included, as fnmatch's does.
        if fnmatch.fnmatchcase(path, behaviour["PathPattern"]):
            return behaviour["TargetOriginId"]
    return config["DefaultCacheBehavior"]["TargetOriginId"]


class TemplateTest(unittest.TestCase):
    def setUp(self):
        self.template = load_template()
        self.functions = function_resources(self.template)

    def test_every_function_crate_has_a_function_resource(self):
        self.assertEqual(sorted(self.functions), function_crates())
        self.assertEqual(sorted(ALLOWED_TABLE_ACTIONS), function_crates(), "the allowed-actions list names every function")
        for crate, (name, resource) in self.functions.items():
            self.assertEqual(resource["Metadata"]["BuildMethod"], "rust-cargolambda", crate)
            if crate in EVENT_FUNCTIONS:
                self.assertNotIn("FunctionUrlConfig", resource["Properties"], f"{crate} has no URL")
            else:
                self.assertEqual(resource["Properties"]["FunctionUrlConfig"]["AuthType"], "NONE", crate)
        glob = self.template["Globals"]["Function"]
        self.assertEqual(glob["Runtime"], "provided.al2023")
        self.assertEqual(glob["Architectures"], ["arm64"])

    def test_every_path_reaches_its_function_through_cloudfront(self):
        distribution = self.template["Resources"]["Distribution"]
        origins = {o["Id"] for o in distribution["Properties"]["DistributionConfig"]["Origins"]}
        self.assertEqual(origins, set(function_crates()) - EVENT_FUNCTIONS, "one origin per function a browser reaches")
        routes = router()
        self.assertTrue(routes, "the watch router lists the production paths")
        for pattern, function in routes.items():
            path = re.sub(r"\{[^}]+\}", "x1", pattern)
            self.assertEqual(cloudfront_target(distribution, path), function, path)
        # The precedence that matters most, spelled out.
        self.assertEqual(cloudfront_target(distribution, "/memberships"), "memberships")
        self.assertEqual(cloudfront_target(distribution, "/members"), "contact-info")
        self.assertEqual(cloudfront_target(distribution, "/invoices/abc/pay"), "pay-invoice")
        self.assertEqual(cloudfront_target(distribution, "/invoices/abc/pdf"), "invoices")

    def test_behaviours_disable_caching_and_forward_everything_but_host(self):
        config = self.template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
        for behaviour in config["CacheBehaviors"] + [config["DefaultCacheBehavior"]]:
            self.assertEqual(behaviour["CachePolicyId"], "4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
            self.assertEqual(behaviour["OriginRequestPolicyId"], "b689b0a8-53d0-40ab-baf2-68738e2966ac")
            self.assertIn("POST", behaviour["AllowedMethods"])
            self.assertEqual(behaviour["ViewerProtocolPolicy"], "redirect-to-https")
        for origin in config["Origins"]:
            headers = {h["HeaderName"] for h in origin["OriginCustomHeaders"]}
            self.assertIn("x-origin-verify", headers)

    def test_policies_grant_only_each_functions_actions(self):
        for crate, (name, resource) in self.functions.items():
            granted = set()
            for policy in resource["Properties"]["Policies"]:
                for statement in policy["Statement"]:
                    actions = statement["Action"]
                    granted.update([actions] if isinstance(actions, str) else actions)
            table = {a.split(":", 1)[1] for a in granted if a.startswith("dynamodb:")}
            self.assertTrue(table <= ALLOWED_TABLE_ACTIONS[crate], f"{crate} grants {table - ALLOWED_TABLE_ACTIONS[crate]}")
            others = {a for a in granted if not a.startswith("dynamodb:")}
            expected = ({"ses:SendEmail"} if crate in MAILERS else set()) | ({"sqs:SendMessage"} if crate in QUEUE_SENDERS else set())
            self.assertEqual(others, expected, crate)
            self.assertFalse(any("*" in a for a in granted), f"{crate} uses a wildcard action")
            for policy in resource["Properties"]["Policies"]:
                for statement in policy["Statement"]:
                    if statement["Action"] == "ses:SendEmail":
                        self.assertEqual(statement["Condition"], {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}},
                                         f"{crate} sends only from the practice's address")

    def test_only_the_payment_functions_hold_the_stripe_keys(self):
        glob = self.template["Globals"]["Function"]["Environment"]["Variables"]
        self.assertNotIn("STRIPE_SECRET_KEY", glob)
        self.assertEqual(glob["PAYMENT_PROCESSOR"], {"Ref": "PaymentProcessor"})
        for crate, (name, resource) in self.functions.items():
            variables = resource["Properties"].get("Environment", {}).get("Variables", {})
            if crate in PAYMENT_FUNCTIONS:
                extra = {"PORTAL_PUBLIC_URL"} if crate == "reminders" else set()
                self.assertEqual(set(variables), {"STRIPE_PUBLISHABLE_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"} | extra, crate)
            elif crate == "practice-feed":
                self.assertEqual(set(variables), {"PRACTICE_WEBHOOK_URL", "PRACTICE_WEBHOOK_SECRET", "PRACTICE_STAFF_EMAIL"})
            else:
                self.assertFalse(any(v.startswith("STRIPE_") for v in variables), crate)
        params = self.template["Parameters"]
        self.assertEqual(params["PaymentProcessor"]["Default"], "stripe", "a new stack takes real payments")
        self.assertEqual(params["AllowSandboxPayments"]["Default"], "0")
        rule = self.template["Rules"]["StripeKeys"]
        self.assertEqual(len(rule["Assertions"]), 3, "Stripe needs its publishable key and both secrets")
        distribution = self.template["Resources"]["Distribution"]
        self.assertEqual(cloudfront_target(distribution, "/stripe/webhook"), "payment-events")

    def test_table_has_ttl_gsi_recovery_and_encryption(self):
        table = self.template["Resources"]["Table"]["Properties"]
        self.assertEqual(table["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(table["TimeToLiveSpecification"], {"AttributeName": "expires_at", "Enabled": True})
        self.assertTrue(table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])
        self.assertTrue(table["SSESpecification"]["SSEEnabled"])
        self.assertEqual(table["GlobalSecondaryIndexes"][0]["IndexName"], "gsi1")

    def test_the_practice_feed_leaves_through_the_stream_in_order_with_a_dead_letter_queue(self):
        resources = self.template["Resources"]
        self.assertEqual(resources["Table"]["Properties"]["StreamSpecification"], {"StreamViewType": "NEW_IMAGE"})
        mapping = resources["PracticeFeedMapping"]
        self.assertEqual(mapping["Condition"], "HasPracticeWebhook", "no endpoint, no mapping")
        props = mapping["Properties"]
        self.assertEqual(props["EventSourceArn"], {"Fn::GetAtt": ["Table", "StreamArn"]})
        self.assertEqual(props["FunctionName"], {"Ref": "PracticeFeedFunction"})
        self.assertEqual(props["ParallelizationFactor"], 1, "one batch at a time per shard keeps each household's order")
        self.assertEqual(props["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertTrue(props["BisectBatchOnFunctionError"])
        self.assertLessEqual(props["MaximumRecordAgeInSeconds"], 86400, "within the stream's 24 hours")
        self.assertEqual(props["DestinationConfig"]["OnFailure"]["Destination"], {"Fn::GetAtt": ["PracticeFeedDeadLetters", "Arn"]})
        pattern = json.loads(props["FilterCriteria"]["Filters"][0]["Pattern"])
        self.assertEqual(pattern, {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": "FEED#"}]}}}})
        alarm = resources["PracticeFeedDeadLettersAlarm"]["Properties"]
        self.assertEqual(alarm["Namespace"], "AWS/SQS")
        self.assertEqual(alarm["Threshold"], 1)
        # The function reads the stream and may hand a batch to the queue; its secret is generated.
        function = resources["PracticeFeedFunction"]["Properties"]
        self.assertGreaterEqual(function["Timeout"], 45, "six attempts with backoff fit in one invocation")
        secret = function["Environment"]["Variables"]["PRACTICE_WEBHOOK_SECRET"]
        self.assertIn("PracticeWebhookSecret", json.dumps(secret))
        self.assertEqual(resources["PracticeWebhookSecret"]["Type"], "AWS::SecretsManager::Secret")

    def test_the_staff_digest_is_scheduled_each_morning_in_the_practice_time_zone(self):
        resources = self.template["Resources"]
        schedule = resources["StaffDigestSchedule"]
        self.assertEqual(schedule["Condition"], "HasStaffDigest")
        props = schedule["Properties"]
        self.assertEqual(props["ScheduleExpressionTimezone"], {"Ref": "PracticeTimeZone"})
        self.assertEqual(props["ScheduleExpression"], {"Fn::Sub": "cron(0 ${DigestHour} * * ? *)"})
        self.assertEqual(json.loads(props["Target"]["Input"]), {"digest": "yesterday"})
        self.assertEqual(props["Target"]["Arn"], {"Fn::GetAtt": ["PracticeFeedFunction", "Arn"]})
        role = resources["StaffDigestScheduleRole"]["Properties"]
        statement = role["Policies"][0]["PolicyDocument"]["Statement"][0]
        self.assertEqual(statement["Action"], "lambda:InvokeFunction")
        self.assertEqual(statement["Resource"], {"Fn::GetAtt": ["PracticeFeedFunction", "Arn"]})

    def test_the_reminders_run_is_scheduled_each_morning_in_the_practice_time_zone(self):
        resources = self.template["Resources"]
        props = resources["RemindersSchedule"]["Properties"]
        self.assertNotIn("Condition", resources["RemindersSchedule"], "every practice's patients get reminders")
        self.assertEqual(props["ScheduleExpressionTimezone"], {"Ref": "PracticeTimeZone"})
        self.assertEqual(props["ScheduleExpression"], {"Fn::Sub": "cron(0 ${ReminderHour} * * ? *)"})
        self.assertEqual(json.loads(props["Target"]["Input"]), {"reminders": "today"})
        self.assertEqual(props["Target"]["Arn"], {"Fn::GetAtt": ["RemindersFunction", "Arn"]})
        statement = resources["RemindersScheduleRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
        self.assertEqual((statement["Action"], statement["Resource"]), ("lambda:InvokeFunction", {"Fn::GetAtt": ["RemindersFunction", "Arn"]}))
        function = resources["RemindersFunction"]["Properties"]
        self.assertGreaterEqual(function["Timeout"], 300, "a run reads every household")
        hour = self.template["Parameters"]["ReminderHour"]
        self.assertEqual((hour["MinValue"], hour["MaxValue"]), (0, 23))

    def test_an_optional_web_acl_rate_limits_sign_in_and_posts_per_address(self):
        params = self.template["Parameters"]
        self.assertEqual(params["EdgeFirewall"]["Default"], "off", "it has a monthly cost: the operator turns it on")
        acl = self.template["Resources"]["EdgeFirewallAcl"]
        self.assertEqual(acl["Condition"], "UsesEdgeFirewall")
        props = acl["Properties"]
        self.assertEqual(props["Scope"], "CLOUDFRONT")
        rules = {r["Name"]: r for r in props["Rules"]}
        self.assertEqual(set(rules), {"sign-in-and-access-links", "posts", "everything"})
        for rule in rules.values():
            rate = rule["Statement"]["RateBasedStatement"]
            self.assertEqual(rate["AggregateKeyType"], "IP")
            self.assertEqual(rule["Action"]["Block"]["CustomResponse"]["ResponseCode"], 429)
        paths = [s["ByteMatchStatement"]["SearchString"]
                 for s in rules["sign-in-and-access-links"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["OrStatement"]["Statements"]]
        self.assertEqual(sorted(paths), ["/access/", "/sign-in"])
        post = rules["posts"]["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["ByteMatchStatement"]
        self.assertEqual((post["SearchString"], post["FieldToMatch"]), ("POST", {"Method": {}}))
        config = self.template["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
        self.assertEqual(config["WebACLId"], {"Fn::If": ["UsesEdgeFirewall", {"Fn::GetAtt": ["EdgeFirewallAcl", "Arn"]}, {"Ref": "AWS::NoValue"}]})
        self.assertIn("EdgeFirewallRegion", self.template["Rules"], "a CloudFront web ACL lives in us-east-1")

    def test_every_function_has_reserved_concurrency_unless_the_operator_turns_it_off(self):
        glob = self.template["Globals"]["Function"]
        self.assertEqual(glob["ReservedConcurrentExecutions"],
                         {"Fn::If": ["ReservesConcurrency", {"Ref": "FunctionConcurrency"}, {"Ref": "AWS::NoValue"}]})
        self.assertGreater(self.template["Parameters"]["FunctionConcurrency"]["Default"], 0)
        for crate, (name, resource) in self.functions.items():
            self.assertNotIn("ReservedConcurrentExecutions", resource["Properties"], f"{crate} keeps the stack's setting")


if __name__ == "__main__":
    unittest.main()
