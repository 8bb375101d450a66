import GRDB

// How the shared column values go in and out of GRDB rows and statement arguments.

extension CommunicationColumns {
    init(row: Row) {
        self.init(
            id: row["id"], planID: row["plan_id"], clientID: row["client_id"], messageType: row["message_type"],
            urgency: row["urgency"], status: row["status"], channelUsed: row["channel_used"], priority: row["priority"],
            decision: row["decision"], recipient: row["recipient"], context: row["context"],
            preferredChannel: row["preferred_channel"], idempotencyKey: row["idempotency_key"],
            attachmentCount: row["attachment_count"], createdAt: row["created_at"], updatedAt: row["updated_at"]
        )
        erasedAt = row["erased_at"]
    }

    var arguments: StatementArguments {
        [id, planID, clientID, messageType, urgency, status, channelUsed, priority, decision, recipient, context,
         preferredChannel, idempotencyKey, createdAt, updatedAt, attachmentCount]
    }
}

extension AttemptColumns {
    init(row: Row) {
        self.init(
            number: row["number"], channel: row["channel"], provider: row["provider"], startedAt: row["started_at"],
            latencyMilliseconds: row["latency_ms"], outcome: row["outcome"], providerMessageID: row["provider_message_id"],
            errorCategory: row["error_category"], error: row["error"], missingVariables: row["missing_variables"]
        )
    }

    func arguments(communicationID: String) -> StatementArguments {
        [communicationID, number, channel, provider, startedAt, latencyMilliseconds, outcome, providerMessageID, errorCategory, error,
         missingVariables]
    }
}

extension StatusEventColumns {
    init(row: Row) {
        self.init(status: row["status"], channel: row["channel"], detail: row["detail"], at: row["at"])
    }
}

extension PreferencesColumns {
    init(row: Row) {
        self.init(
            clientID: row["client_id"], preferredChannels: row["preferred_channels"], timezone: row["timezone"],
            quietHoursStart: row["quiet_hours_start"], quietHoursEnd: row["quiet_hours_end"],
            optOutEmail: row["opt_out_email"], optOutSMS: row["opt_out_sms"], optOutWhatsApp: row["opt_out_whatsapp"],
            languagePreference: row["language_preference"], updatedAt: row["updated_at"]
        )
    }

    var arguments: StatementArguments {
        [clientID, preferredChannels, timezone, quietHoursStart, quietHoursEnd, optOutEmail, optOutSMS, optOutWhatsApp,
         languagePreference, updatedAt]
    }
}

extension AuditColumns {
    init(row: Row) {
        self.init(
            seq: row["seq"], at: row["at"], actor: row["actor"], action: row["action"], clientID: row["client_id"],
            communicationID: row["communication_id"], detail: row["detail"]
        )
    }
}
