"""Protobuf enum <-> domain value tables for notification's contract."""

from liandiao.notification.v1 import notification_pb2
from liandiao.rpc.enums import EnumMap

STATUS = EnumMap({notification_pb2.DELIVERY_STATUS_PENDING: "pending", notification_pb2.DELIVERY_STATUS_SENT: "sent",
                  notification_pb2.DELIVERY_STATUS_FAILED: "failed",
                  notification_pb2.DELIVERY_STATUS_DELIVERED: "delivered",
                  notification_pb2.DELIVERY_STATUS_EXPIRED: "expired"})
CHANNEL = EnumMap({notification_pb2.CHANNEL_CONSOLE: "console", notification_pb2.CHANNEL_SMS: "sms",
                   notification_pb2.CHANNEL_EMAIL: "email", notification_pb2.CHANNEL_WEBHOOK: "webhook"})
RECIPIENT = EnumMap({notification_pb2.RECIPIENT_KIND_PARTY: "party", notification_pb2.RECIPIENT_KIND_MEDIATOR: "mediator",
                     notification_pb2.RECIPIENT_KIND_LIAISON_OFFICER: "liaison_officer",
                     notification_pb2.RECIPIENT_KIND_COURT: "court",
                     notification_pb2.RECIPIENT_KIND_POLICE_STATION: "police_station",
                     notification_pb2.RECIPIENT_KIND_ORGANIZATION: "organization",
                     notification_pb2.RECIPIENT_KIND_AGENT: "agent",
                     notification_pb2.RECIPIENT_KIND_JUSTICE_BUREAU: "justice_bureau"})
# Who referred a dispute, by its source: they are told where it went.
REFERRER_KIND = {"police_referral": "police_station", "court_delegation": "court", "court_commission": "court"}
