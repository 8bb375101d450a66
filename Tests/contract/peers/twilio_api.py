"""Twilio's Messages API as documented (https://www.twilio.com/docs/messaging/api/message-resource):
POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP basic auth with the account
SID and auth token; 201 with the Message resource, or an error body {code, message, more_info, status}.

MediaUrl (MMS) may be given up to ten times, each an absolute http(s) URL Twilio fetches itself
(https://www.twilio.com/docs/messaging/api/media-resource: "up to 10 media files"; over ten is 21623,
https://www.twilio.com/docs/api/errors/21623; a URL without http:// or https:// is 21620,
https://www.twilio.com/docs/api/errors/21620). Body may then be empty: "The Body OR MediaURL parameter
is required" (https://www.twilio.com/docs/errors/21602). Every other parameter is given once.
Twilio fetches the media after accepting the message and checks its Content-Type
(https://www.twilio.com/docs/messaging/guides/accepted-mime-types); tests fetch the recorded URLs
themselves."""

import base64
import re
import urllib.parse
import uuid

from peers.http import ContractViolation, Peer

ACCOUNT_SID = "AC" + "0" * 30 + "01"
AUTH_TOKEN = "twilio-test-token-0123456789abcd"
FROM = "+15005550006"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def error(status, code, message):
    return status, {}, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class TwilioAPI(Peer):
    def env(self):
        return {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_PHONE_NUMBER": FROM,
            "TWILIO_API_BASE_URL": self.base_url,
        }

    def handle(self, method, path, headers, body, record):
        expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if headers.get("Authorization") != expected:
            return error(401, 20003, "Authenticate")
        if method == "GET" and path == f"/2010-04-01/Accounts/{ACCOUNT_SID}.json":
            return 200, {}, {"sid": ACCOUNT_SID, "status": "active", "friendly_name": "test"}
        if method != "POST" or path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return error(404, 20404, f"The requested resource {path} was not found")
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            raise ContractViolation(f"Content-Type is {headers.get('Content-Type')}, not form-encoded")
        form = urllib.parse.parse_qs(body.decode(), keep_blank_values=True, strict_parsing=True)
        media_urls = form.pop("MediaUrl", [])
        for name, values in form.items():
            if len(values) != 1:
                raise ContractViolation(f"{name} given {len(values)} times")
        fields = {name: values[0] for name, values in form.items()}
        unknown = set(fields) - {"To", "From", "Body", "StatusCallback", "MessagingServiceSid"}
        if unknown:
            raise ContractViolation(f"unknown parameters {sorted(unknown)}")
        if not E164.match(fields.get("To", "")):
            raise ContractViolation("To is not E.164")
        if "From" not in fields and "MessagingServiceSid" not in fields:
            return error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if len(media_urls) > 10:
            return error(400, 21623, "Number of media files exceeds allowed limit")
        for url in media_urls:
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                return error(400, 21620, "Invalid media URL(s)")
        if not fields.get("Body") and not media_urls:
            return error(400, 21602, "Message body is required")
        if len(fields.get("Body", "")) > 1600:
            return error(400, 21617, "The concatenated message body exceeds the 1600 character limit")
        sid = ("MM" if media_urls else "SM") + uuid.uuid4().hex
        record["accepted"] = True
        record["fields"] = fields
        record["media_urls"] = media_urls
        return 201, {}, {
            "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": fields.get("Body", ""),
            "date_created": "Wed, 25 Nov 2026 10:00:00 +0000", "date_sent": None,
            "date_updated": "Wed, 25 Nov 2026 10:00:00 +0000", "direction": "outbound-api", "error_code": None,
            "error_message": None, "from": fields.get("From"), "messaging_service_sid": fields.get("MessagingServiceSid"),
            "num_media": str(len(media_urls)), "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid, "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"},
            "to": fields["To"], "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }
