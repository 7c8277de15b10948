"""Front ends: the only code that prints or exits."""
