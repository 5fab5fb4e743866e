"""Pure rendering: values in, Kubernetes objects (plain dicts) out, through the Jinja2 templates in `templates/`."""
