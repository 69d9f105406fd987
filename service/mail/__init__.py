"""Mail leaving Broadsheet: the transports that carry built messages (SMTP, Maildir, memory)."""
