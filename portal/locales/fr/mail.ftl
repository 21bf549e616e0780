# Letters (portal/src/mail/letters.rs).
mail-hello = Bonjour { $name },
mail-reset-subject = Réinitialisez votre mot de passe du portail { $tenant }
mail-reset-title = Réinitialisez votre mot de passe
mail-reset-intro = Quelqu’un (vous, nous l’espérons) a demandé la réinitialisation du mot de passe de votre compte sur le portail client de { $tenant }.
mail-reset-link-intro = Choisissez un nouveau mot de passe ici :
mail-reset-button = Choisir un nouveau mot de passe
mail-reset-validity = Le lien ne fonctionne qu’une fois, pendant { $minutes } minutes. Si vous n’en avez pas fait la demande, ignorez ce message : votre mot de passe reste inchangé.
mail-invitation-subject = { $inviter } vous invite sur le portail client de { $tenant }
mail-invitation-title = Vous avez reçu une invitation
mail-invitation-intro = { $inviter } vous invite sur le portail client de { $tenant } pour { $company } : ouvrez des tickets, suivez leur avancement et contactez l’équipe de { $tenant }.
mail-invitation-link-intro = Configurez votre compte ici :
mail-invitation-button = Configurer mon compte
mail-invitation-validity = Le lien ne fonctionne qu’une fois, pendant { $hours } heures.
mail-notification-link-intro = Consultez-le dans le portail :
mail-notification-button = Ouvrir dans le portail
mail-notification-why = Vous recevez ce message en raison de vos paramètres de notification : { $settings }
