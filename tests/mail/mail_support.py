"""Names shared by the mail tests (imported as a top-level module: pytest puts this folder on sys.path)."""

ADELE = "adele@contoso.example"
MEGAN = "megan@contoso.example"
SHARED = "sales@contoso.example"
IMAP_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All"
POP_SCOPE = "https://outlook.office.com/POP.AccessAsUser.All"
SMTP_SCOPE = "https://outlook.office.com/SMTP.Send"
MAIL_SCOPES = (IMAP_SCOPE, POP_SCOPE, SMTP_SCOPE)
