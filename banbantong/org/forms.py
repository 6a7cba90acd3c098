from __future__ import annotations

from django import forms

from banbantong.org.models import School
from banbantong.org.services import SCHOOL_EDITABLE_FIELDS


class SchoolForm(forms.ModelForm):
    # The version the editor loaded; a concurrent save is detected against it.
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = School
        fields = list(SCHOOL_EDITABLE_FIELDS)
