# Letters (portal/src/mail/letters.rs).
mail-hello = Hallo { $name },
mail-reset-subject = Ihr Passwort für das Portal von { $tenant } zurücksetzen
mail-reset-title = Passwort zurücksetzen
mail-reset-intro = Jemand (hoffentlich Sie) hat angefordert, das Passwort Ihres Kontos im Kundenportal von { $tenant } zurückzusetzen.
mail-reset-link-intro = Legen Sie hier ein neues Passwort fest:
mail-reset-button = Neues Passwort festlegen
mail-reset-validity = Der Link funktioniert einmal, { $minutes } Minuten lang. Wenn Sie ihn nicht angefordert haben, ignorieren Sie diese Nachricht: Ihr Passwort bleibt unverändert.
mail-invitation-subject = { $inviter } hat Sie in das Kundenportal von { $tenant } eingeladen
mail-invitation-title = Sie sind eingeladen
mail-invitation-intro = { $inviter } hat Sie für { $company } in das Kundenportal von { $tenant } eingeladen: Erstellen Sie Tickets, verfolgen Sie deren Fortschritt und erreichen Sie das Team von { $tenant }.
mail-invitation-link-intro = Richten Sie Ihr Konto hier ein:
mail-invitation-button = Konto einrichten
mail-invitation-validity = Der Link funktioniert einmal, { $hours } Stunden lang.
mail-notification-link-intro = Öffnen Sie es im Portal:
mail-notification-button = Im Portal öffnen
mail-notification-why = Sie erhalten diese Nachricht aufgrund Ihrer Benachrichtigungseinstellungen: { $settings }
