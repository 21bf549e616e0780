# Letters (portal/src/mail/letters.rs).
mail-hello = Hello { $name },
mail-reset-subject = Reset your { $tenant } portal password
mail-reset-title = Reset your password
mail-reset-intro = Someone (we hope you) asked to reset the password of your account at the { $tenant } client portal.
mail-reset-link-intro = Choose a new password here:
mail-reset-button = Choose a new password
mail-reset-validity = The link works once, for { $minutes } minutes. If you did not ask for it, ignore this message: your password stays as it is.
mail-invitation-subject = { $inviter } invited you to the { $tenant } client portal
mail-invitation-title = You are invited
mail-invitation-intro = { $inviter } invited you to the { $tenant } client portal, for { $company }: open tickets, follow their progress and reach { $tenant }'s team.
mail-invitation-link-intro = Set up your account here:
mail-invitation-button = Set up your account
mail-invitation-validity = The link works once, for { $hours } hours.
mail-notification-link-intro = Open it in the portal:
mail-notification-button = Open in the portal
mail-notification-why = You receive this because of your notification settings: { $settings }
