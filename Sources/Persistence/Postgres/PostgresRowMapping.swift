import Foundation
import PostgresNIO

// How the shared column values come out of PostgreSQL rows.

extension CommunicationColumns {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            id: try row["id"].decode(String.self), planID: try row["plan_id"].decode(String.self),
            clientID: try row["client_id"].decode(String.self), messageType: try row["message_type"].decode(String.self),
            urgency: try row["urgency"].decode(String.self), status: try row["status"].decode(String.self),
            channelUsed: try row["channel_used"].decode(String?.self), priority: try row["priority"].decode(Int.self),
            decision: try row["decision"].decode(String.self), recipient: try row["recipient"].decode(Data.self),
            context: try row["context"].decode(Data.self), preferredChannel: try row["preferred_channel"].decode(String?.self),
            idempotencyKey: try row["idempotency_key"].decode(String?.self),
            attachmentCount: try row["attachment_count"].decode(Int.self),
            createdAt: try row["created_at"].decode(Int64.self), updatedAt: try row["updated_at"].decode(Int64.self)
        )
        erasedAt = try row["erased_at"].decode(Int64?.self)
    }
}

extension AttemptColumns {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            number: try row["number"].decode(Int.self), channel: try row["channel"].decode(String.self),
            provider: try row["provider"].decode(String.self), startedAt: try row["started_at"].decode(Int64.self),
            latencyMilliseconds: try row["latency_ms"].decode(Int.self), outcome: try row["outcome"].decode(String.self),
            providerMessageID: try row["provider_message_id"].decode(String?.self),
            errorCategory: try row["error_category"].decode(String?.self), error: try row["error"].decode(String?.self),
            missingVariables: try row["missing_variables"].decode(String?.self)
        )
    }
}

extension StatusEventColumns {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            status: try row["status"].decode(String.self), channel: try row["channel"].decode(String?.self),
            detail: try row["detail"].decode(String?.self), at: try row["at"].decode(Int64.self)
        )
    }
}

extension PreferencesColumns {
    init(row: PostgresRandomAccessRow) throws {
        self.init(
            clientID: try row["client_id"].decode(String.self), preferredChannels: try row["preferred_channels"].decode(String.self),
            timezone: try row["timezone"].decode(String.self), quietHoursStart: try row["quiet_hours_start"].decode(String.self),
            quietHoursEnd: try row["quiet_hours_end"].decode(String.self), optOutEmail: try row["opt_out_email"].decode(Bool.self),
            optOutSMS: try row["opt_out_sms"].decode(Bool.self), optOutWhatsApp: try row["opt_out_whatsapp"].decode(Bool.self),
            languagePreference: try row["language_preference"].decode(String.self), updatedAt: try row["updated_at"].decode(Int64.self)
        )
    }
}
