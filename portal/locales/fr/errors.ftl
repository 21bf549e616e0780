# Pages d’erreur (portal/src/error.rs). `error-{code}` donne à une erreur codée
# (AppError::invalid("code", …)) son texte dans la langue du lecteur.
error-title-unknown-host = Portail introuvable
error-unknown-host = Il n’y a aucun portail client à cette adresse. Vérifiez le lien que vous avez suivi.
error-title-not-found = Introuvable
error-not-found = Cette page n’existe pas.
error-title-unauthenticated = Connexion requise
error-unauthenticated = Veuillez vous connecter pour continuer.
error-title-not-allowed = Accès non autorisé
error-permission-denied = Votre compte n’a pas l’autorisation d’ouvrir cette page. Adressez-vous à votre administrateur si vous en avez besoin.
error-wrong-user-type = ce compte n’a pas accès à cette page
error-title-forbidden = Interdit
error-forbidden = Cette requête a été refusée.
error-title-bad-request = Requête incorrecte
error-title-conflict = Conflit
error-title-too-large = Trop volumineux
error-too-large = le corps de la requête est trop volumineux
error-title-unsupported = Requête non prise en charge
error-unsupported = ce type de corps de requête n’est pas accepté ici
error-title-unavailable = Temporairement indisponible
error-unavailable = Le portail ne parvient pas à joindre sa base de données pour le moment. Veuillez réessayer dans une minute.
error-title-internal = Une erreur s’est produite
error-internal = Le portail n’a pas pu traiter cette requête. Veuillez réessayer.
error-invalid_board = Choisissez l’un des tableaux proposés.
error-invalid_priority = Choisissez l’une des priorités proposées.
error-invalid_language = Choisissez l’une des langues proposées.
error-back-to-the-start-page = Retour à la page d’accueil
