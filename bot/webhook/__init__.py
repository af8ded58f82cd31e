"""Webhook mode, framework-independent: the ingress keeps updates, workers take them from the inbox in order per chat.

    Telegram --POST--> ingress (secret checked; kept in the inbox; then 200)
                       inbox (unique on update id) <--claim on a lease-- workers --> adapter --> engine
"""
