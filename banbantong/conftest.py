"""Shared test fixtures: two counties with a school each, and a user of every role.

alice runs county A; bob runs county B and "should have no access" to anything of A's.
Factories are lazy: nothing is built at import time.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from banbantong.accounts.models import User
from banbantong.org import services
from banbantong.org.models import Classroom, Region, School, Teacher, TeachingClass

PASSWORD = "Test@2026pw"  # noqa: S105 - test fixture


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: object) -> None:
    # PBKDF2 at production strength costs ~0.3 s a user; tests create dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]


@dataclass
class World:
    city: Region
    county_a: Region
    town_a: Region
    county_b: Region
    town_b: Region
    school_a: School
    school_a2: School
    school_b: School
    class_a: TeachingClass
    class_b: TeachingClass
    teacher_a: Teacher
    teacher_b: Teacher
    alice: User  # bureau admin, county A
    bob: User  # bureau admin, county B
    city_admin: User
    principal_a: User  # school admin, school A
    device_admin_a: User
    teacher_user_a: User
    reviewer_a: User
    integrator_a: User  # assigned to school A only
    auditor_a: User
    auditor_b: User


def make_user(username: str, role: str, **kwargs: object) -> User:
    return User.objects.create_user(username=username, password=PASSWORD, role=role, **kwargs)  # type: ignore[arg-type]


def make_school(region: Region, name: str, kind: str = School.Kind.CENTRAL_PRIMARY) -> School:
    return School.objects.create(region=region, name=name, kind=kind, is_rural=services.school_is_rural(kind))


def make_teacher(school: School, username: str, name: str) -> Teacher:
    user = make_user(username, User.Role.TEACHER, school=school, display_name=name)
    return Teacher.objects.create(
        user=user, school=school, name=name, subject="数学", phone="13812345678", id_number="360822198001011234"
    )


@pytest.fixture
def world(db: object) -> World:
    R = Region.Level
    city, _ = services.ensure_region("吉安市", level=R.CITY, parent=None, actor=None)
    county_a, _ = services.ensure_region("吉水县", level=R.COUNTY, parent=city, actor=None)
    town_a, _ = services.ensure_region("文峰镇", level=R.TOWN, parent=county_a, actor=None)
    county_b, _ = services.ensure_region("新干县", level=R.COUNTY, parent=city, actor=None)
    town_b, _ = services.ensure_region("金川镇", level=R.TOWN, parent=county_b, actor=None)
    school_a = make_school(town_a, "文峰中心小学")
    school_a2 = make_school(town_a, "文峰村小", School.Kind.VILLAGE_PRIMARY)
    school_b = make_school(town_b, "金川中心小学")
    class_a = TeachingClass.objects.create(school=school_a, grade=3, name="1班", pupils=45)
    TeachingClass.objects.create(school=school_a, grade=4, name="1班", pupils=44, status=TeachingClass.Status.BUILT)
    TeachingClass.objects.create(school=school_a2, grade=1, name="1班", pupils=20)
    class_b = TeachingClass.objects.create(school=school_b, grade=3, name="1班", pupils=50)
    Classroom.objects.create(school=school_a, name="301", teaching_class=class_a)
    services.refresh_school_counts([school_a.pk, school_a2.pk, school_b.pk])
    teacher_a = make_teacher(school_a, "t_wang", "王老师")
    teacher_b = make_teacher(school_b, "t_li", "李老师")
    services.refresh_school_counts([school_a.pk, school_b.pk])
    integrator = make_user("integrator_a", User.Role.INTEGRATOR)
    integrator.assigned_schools.add(school_a)
    return World(
        city=city, county_a=county_a, town_a=town_a, county_b=county_b, town_b=town_b,
        school_a=school_a, school_a2=school_a2, school_b=school_b, class_a=class_a, class_b=class_b,
        teacher_a=teacher_a, teacher_b=teacher_b,
        alice=make_user("alice", User.Role.BUREAU_ADMIN, region=county_a),
        bob=make_user("bob", User.Role.BUREAU_ADMIN, region=county_b),
        city_admin=make_user("city_admin", User.Role.BUREAU_ADMIN, region=city),
        principal_a=make_user("principal_a", User.Role.SCHOOL_ADMIN, school=school_a),
        device_admin_a=make_user("device_a", User.Role.DEVICE_ADMIN, school=school_a),
        teacher_user_a=teacher_a.user,
        reviewer_a=make_user("reviewer_a", User.Role.REVIEWER, region=county_a),
        integrator_a=integrator,
        auditor_a=make_user("auditor_a", User.Role.AUDITOR, region=county_a),
        auditor_b=make_user("auditor_b", User.Role.AUDITOR, region=county_b),
    )
