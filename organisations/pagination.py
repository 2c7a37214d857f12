from django.core.paginator import Paginator


def paginate(request, queryset, per_page: int = 25):
    """The requested page of `queryset`; a bad or out-of-range ?page= gives the nearest page."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
