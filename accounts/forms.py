from django import forms


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up form (allauth mixes its own fields in)."""

    display_name = forms.CharField(
        max_length=150,
        required=False,
        label="Display name",
        help_text="How SmartGallery greets you. Optional.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    field_order = ["email", "display_name", "password1", "password2"]

    def signup(self, request, user) -> None:
        user.display_name = self.cleaned_data["display_name"].strip()
        user.save(update_fields=["display_name"])
