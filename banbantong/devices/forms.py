from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from banbantong.devices.models import Company, Device, Ticket
from banbantong.org.models import Classroom, School


class DeviceForm(forms.Form):
    school = forms.ModelChoiceField(label=pgettext_lazy("field", "学校"), queryset=School.objects.none())
    classroom = forms.ModelChoiceField(label=pgettext_lazy("field", "教室"), queryset=Classroom.objects.none(), required=False)
    type = forms.ChoiceField(label=_("设备类型"), choices=Device.Type.choices)
    brand = forms.CharField(label=_("品牌"), max_length=60)
    model = forms.CharField(label=_("型号"), max_length=80)
    serial = forms.CharField(label=_("序列号"), max_length=80)
    asset_tag = forms.CharField(label=_("资产编号（留空自动生成）"), max_length=40, required=False)
    supplier = forms.ModelChoiceField(label=_("供货商"), queryset=Company.objects.none(), required=False)
    integrator = forms.ModelChoiceField(label=_("集成商"), queryset=Company.objects.none(), required=False)
    purchase_date = forms.DateField(label=_("购置日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    price = forms.DecimalField(label=_("价格(元)"), required=False, min_value=0, decimal_places=2)
    warranty_end = forms.DateField(label=_("保修截止"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    responsible = forms.CharField(label=_("责任人"), max_length=50, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = School.objects.for_user(user).order_by("name")
        self.fields["school"].queryset = schools  # type: ignore[attr-defined]
        self.fields["classroom"].queryset = Classroom.objects.for_user(user).select_related("school")  # type: ignore[attr-defined]
        companies = Company.objects.filter(region__in=_regions_above(user))
        self.fields["supplier"].queryset = companies  # type: ignore[attr-defined]
        self.fields["integrator"].queryset = companies.filter(kind=Company.Kind.INTEGRATOR)  # type: ignore[attr-defined]


def _regions_above(user: Any) -> Any:
    """Companies registered on any region above or at the user's places (a county's contact book)."""
    from banbantong.org.models import Region

    if user.scope.everything:
        return Region.objects.all()
    paths = list(user.scope.region_paths) + list(
        School.objects.filter(id__in=user.scope.school_ids).values_list("region_path", flat=True)
    )
    ids = {int(p) for path in paths for p in path.strip("/").split("/") if p}
    return Region.objects.filter(id__in=ids) | Region.objects.for_user(user)


class FaultForm(forms.Form):
    fault = forms.ChoiceField(label=_("故障"), choices=Ticket.Fault.choices, widget=forms.RadioSelect)
    description = forms.CharField(label=_("补充说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("照片（可选）"), required=False)


class PublicFaultForm(FaultForm):
    name = forms.CharField(label=_("您的称呼（可选）"), required=False, max_length=50)
    phone = forms.CharField(label=_("联系电话（可选）"), required=False, max_length=20)


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["name", "kind", "contact_person", "after_sales_phone", "address"]
