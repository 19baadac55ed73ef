"""Where events come from besides webhooks: each broker is one module behind ``EventSource``."""
