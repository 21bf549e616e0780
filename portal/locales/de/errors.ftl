# Error pages (portal/src/error.rs). `error-{code}` gives a coded error
# (AppError::invalid("code", …)) its text in the reader's language.
error-title-unknown-host = Portal nicht gefunden
error-unknown-host = Unter dieser Adresse gibt es kein Kundenportal. Prüfen Sie den Link, dem Sie gefolgt sind.
error-title-not-found = Nicht gefunden
error-not-found = Diese Seite existiert nicht.
error-title-unauthenticated = Anmeldung erforderlich
error-unauthenticated = Bitte melden Sie sich an, um fortzufahren.
error-title-not-allowed = Nicht erlaubt
error-permission-denied = Ihr Konto hat keine Berechtigung, diese Seite zu öffnen. Wenden Sie sich an Ihren Administrator, wenn Sie sie benötigen.
error-wrong-user-type = dieses Konto hat hier keinen Zugriff
error-title-forbidden = Zugriff verweigert
error-forbidden = Diese Anfrage wurde abgelehnt.
error-title-bad-request = Ungültige Anfrage
error-title-conflict = Konflikt
error-title-too-large = Zu groß
error-too-large = der Inhalt der Anfrage ist zu groß
error-title-unsupported = Nicht unterstützte Anfrage
error-unsupported = diese Art von Anfrageinhalt wird hier nicht angenommen
error-title-unavailable = Vorübergehend nicht verfügbar
error-unavailable = Das Portal kann seine Datenbank gerade nicht erreichen. Bitte versuchen Sie es in einer Minute erneut.
error-title-internal = Etwas ist schiefgelaufen
error-internal = Das Portal konnte diese Anfrage nicht abschließen. Bitte versuchen Sie es erneut.
error-invalid_board = Wählen Sie eines der angebotenen Boards.
error-invalid_priority = Wählen Sie eine der angebotenen Prioritäten.
error-invalid_language = Wählen Sie eine der angebotenen Sprachen.
error-back-to-the-start-page = Zurück zur Startseite
