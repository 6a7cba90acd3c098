"""Forms of the resource pages: they check the shape of input; the services decide the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banbantong.org.models import School
from banbantong.resources import rules
from banbantong.resources.models import Lesson, Resource


class ResourceUploadForm(forms.Form):
    file = forms.FileField(label=_("文件"), help_text=format_lazy("{}{}", _("可上传："), "、".join(rules.accepted_extensions())))
    title = forms.CharField(label=_("标题"), max_length=200)
    kind = forms.ChoiceField(label=_("类型"), choices=Resource.Kind.choices)
    school = forms.ModelChoiceField(label=pgettext_lazy("field", "学校"), queryset=School.objects.none())
    stage = forms.CharField(label=_("学段"), max_length=20, required=False)
    subject = forms.CharField(label=_("学科"), max_length=20, required=False)
    grade = forms.CharField(label=_("年级"), max_length=20, required=False)
    edition = forms.CharField(label=_("教材版本"), max_length=40, required=False)
    volume = forms.CharField(label=_("册次"), max_length=20, required=False)
    unit = forms.CharField(label=_("单元"), max_length=60, required=False)
    lesson = forms.CharField(label=pgettext_lazy("field", "课时"), max_length=60, required=False)
    description = forms.CharField(label=_("简介"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(label=_("标签（逗号分隔）"), max_length=200, required=False)
    # Chosen on the catalogue page ("为此课时上传"); the text fields above are then filled from it.
    catalogue_lesson = forms.ModelChoiceField(label=_("目录课时"), queryset=Lesson.objects.none(), required=False,
                                              widget=forms.HiddenInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = School.objects.for_user(user).order_by("name")
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        if getattr(user, "school_id", None):
            self.fields["school"].initial = user.school_id
        lessons = Lesson.objects.for_user(user).select_related("unit__volume__edition")
        self.fields["catalogue_lesson"].queryset = lessons  # type: ignore[attr-defined]
