"""SMS and email providers behind one small interface, called through their official SDKs."""

import logging

# The SDKs' HTTP layers log whole requests (SendGrid: the JSON payload with every recipient
# and merge value, at DEBUG; Twilio: request lines and headers, at INFO). Whatever level an
# operator sets, those loggers stay at WARNING: personal data never reaches a log.
QUIET_SDK_LOGGERS = ("python_http_client", "twilio.http_client")
for _name in QUIET_SDK_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)
