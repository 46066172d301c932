package rest

import (
	"net/http"

	"github.com/minikv-go/minikv/server"
)

// clusterStatus answers GET /v1/cluster with this node's view of the
// cluster. A joining node reads its id and first configuration here.
func (h *Handler) clusterStatus(w http.ResponseWriter, _ *http.Request, _ *request) error {
	writeJSON(w, http.StatusOK, h.node.Status())
	return nil
}

// addMember answers POST /v1/cluster/members once the new server is a
// learner of the cluster; the leader promotes it to voter when it has
// caught up.
func (h *Handler) addMember(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := h.node.AddMember(r.Context(), req.member); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, server.MemberStatus{Member: req.member, Role: "learner"})
	return nil
}

// removeMember answers DELETE /v1/cluster/members/{id} once the server is
// out of the configuration.
func (h *Handler) removeMember(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := h.node.RemoveMember(r.Context(), req.id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Removed uint64 `json:"removed"`
	}{req.id})
	return nil
}

// transferLeader answers POST /v1/cluster/transfer-leader once the new
// leader leads.
func (h *Handler) transferLeader(w http.ResponseWriter, r *http.Request, req *request) error {
	to, err := h.node.TransferLeader(r.Context(), req.id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Leader uint64 `json:"leader"`
	}{to})
	return nil
}
