"""The durable webhook inbox: deliveries stored before they are acknowledged."""
